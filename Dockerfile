# elbv2-emulator in a container: the API on :4566 and every listener on 0.0.0.0 inside the container.
# Publish the API port and each listener port you use, e.g.:
#   docker build -t elbv2-emulator . && docker run --rm -p 4566:4566 -p 8080:8080 elbv2-emulator
FROM python:3.11-slim

WORKDIR /opt/elbv2-emulator
COPY pyproject.toml README.md ./
COPY api_models ./api_models
COPY emulator ./emulator
RUN pip install --no-cache-dir .

# Listeners bind the container's 0.0.0.0 (the per-LB loopback addresses would not be reachable from
# outside). State survives container restarts when /state is a volume.
VOLUME ["/state"]
EXPOSE 4566
CMD ["elbv2-emulator", "serve", "--host", "0.0.0.0", "--port", "4566", "--listen-host", "0.0.0.0", "--state-dir", "/state"]
