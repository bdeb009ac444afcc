"""ALB HTTP/2 benchmark (run by hand): one HTTPS listener, the same uvloop backend, clients side by side.

  h1-tls   wrk -t1 -c50 over TLS (ALPN http/1.1): the HTTP/1.1 path through the same HTTPS listener
  h2       h2load -c10 -m10 (10 connections x 10 concurrent streams), HTTP1 target group (HTTP/1.1 leg)
  h2-h2c   the same against an HTTP2 target group whose target is a local h2c server (nghttpd, if installed)
Needs wrk and h2load (Debian: nghttp2-client); a missing tool skips its case.

    python scripts/bench_http2.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import trustme

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


def _listener(emulator: benchlib.Emulator, backend_port: int, version: str, name: str) -> tuple[str, int]:
    elbv2 = emulator.elbv2
    ca = trustme.CA()
    cert = ca.issue_cert("bench.example.com", common_name="bench.example.com")
    acm = boto3.client("acm", endpoint_url=emulator.url, region_name="us-east-1")
    cert_arn = acm.import_certificate(Certificate=cert.cert_chain_pems[0].bytes(), PrivateKey=cert.private_key_pem.bytes(),
                                      CertificateChain=ca.cert_pem.bytes())["CertificateArn"]
    port = benchlib.free_port()
    lb = elbv2.create_load_balancer(Name=name, Subnets=emulator.subnets, SecurityGroups=[
        emulator.security_group(name, port)])["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=backend_port, VpcId=emulator.vpc, TargetType="ip",
                                   ProtocolVersion=version, HealthCheckEnabled=True)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": backend_port}])
    listener = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=port,
                                     Certificates=[{"CertificateArn": cert_arn}],
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]
    return emulator.bound(listener["ListenerArn"])


def h2load(url: str, seconds: float) -> dict[str, float] | None:
    if shutil.which("h2load") is None:
        return None
    out = subprocess.run(["h2load", "-c10", "-m10", "-t1", f"-D{max(1, round(seconds))}", url],
                         capture_output=True, text=True, check=False).stdout
    rps = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if rps is None:
        print(out)
        return None
    return {"rps": float(rps.group(1)), "non2xx": float(sum(int(n) for n in status.groups()[1:])) if status else 0.0}


def _h2c_backend() -> tuple[subprocess.Popen, int] | None:
    if shutil.which("nghttpd") is None:
        return None
    port = benchlib.free_port()
    directory = benchlib.temp_dir()
    Path(directory, "index.html").write_text("ok")
    process = subprocess.Popen(["nghttpd", "--no-tls", "-d", directory, str(port)], stdout=subprocess.DEVNULL)
    benchlib.wait_port("127.0.0.1", port)
    return process, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    backend, backend_port = benchlib.http_backend()
    emulator = benchlib.Emulator()
    h2c = _h2c_backend()
    try:
        host, port = _listener(emulator, backend_port, "HTTP1", "h1")
        results = {"h1-tls": benchlib.wrk(f"https://{host}:{port}/", args.seconds),
                   "h2": h2load(f"https://{host}:{port}/", args.seconds)}
        if h2c is not None:
            host, port = _listener(emulator, h2c[1], "HTTP2", "h2c")
            results["h2-h2c"] = h2load(f"https://{host}:{port}/index.html", args.seconds)
        for case, result in results.items():
            print(f"  {case:8} " + (", ".join(f"{k} {v:.0f}" for k, v in result.items()) if result else "skipped"))
    finally:
        emulator.stop()
        backend.terminate()
        if h2c is not None:
            h2c[0].terminate()


if __name__ == "__main__":
    main()
