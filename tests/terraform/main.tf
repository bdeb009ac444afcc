# Real infrastructure code, applied against the emulator by tests/test_terraform.py: an ALB with a
# path rule and an attached target, and an NLB with a TCP listener. After apply, `terraform plan` must
# show no changes (every attribute Terraform reads back is shaped as AWS shapes it).
variable "endpoint" { type = string }
variable "backend_port" { type = number }

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    ec2   = var.endpoint
    elbv2 = var.endpoint
    sts   = var.endpoint
  }
}

data "aws_vpc" "default" { default = true }

data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

# The emulator enforces security groups: the ALB's opens its listener port to local clients.
resource "aws_security_group" "web" {
  name        = "tf-web"
  description = "HTTP on the listener port"
  vpc_id      = data.aws_vpc.default.id
  ingress {
    protocol    = "tcp"
    from_port   = 18480
    to_port     = 18480
    cidr_blocks = ["127.0.0.0/8"]
  }
}

resource "aws_lb" "web" {
  name               = "tf-web"
  load_balancer_type = "application"
  subnets            = slice(sort(data.aws_subnets.default.ids), 0, 2)
  security_groups    = [aws_security_group.web.id]
  idle_timeout       = 30
  tags               = { team = "edge" }
}

resource "aws_lb_target_group" "app" {
  name        = "tf-app"
  port        = var.backend_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = data.aws_vpc.default.id
  health_check {
    path    = "/healthz"
    matcher = "200-299"
  }
  stickiness {
    type    = "lb_cookie"
    enabled = true
  }
}

resource "aws_lb_target_group_attachment" "local" {
  target_group_arn = aws_lb_target_group.app.arn
  target_id        = "127.0.0.1"
  port             = var.backend_port
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 18480
  protocol          = "HTTP"
  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "no route"
      status_code  = "404"
    }
  }
}

resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.http.arn
  priority     = 10
  condition {
    path_pattern { values = ["/api/*"] }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

resource "aws_lb" "tcp" {
  name               = "tf-tcp"
  load_balancer_type = "network"
  subnets            = slice(sort(data.aws_subnets.default.ids), 0, 1)
}

resource "aws_lb_target_group" "tcp" {
  name     = "tf-tcp"
  port     = var.backend_port
  protocol = "TCP"
  vpc_id   = data.aws_vpc.default.id
  target_type = "ip"
}

resource "aws_lb_listener" "tcp" {
  load_balancer_arn = aws_lb.tcp.arn
  port              = 18481
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.tcp.arn
  }
}

output "web_dns_name" { value = aws_lb.web.dns_name }
output "web_arn" { value = aws_lb.web.arn }
