# A web ACL in front of an ALB, applied against the emulator by tests/test_terraform_waf.py: an IP set
# rule, a rate-based rule and the association. After apply, the ALB's traffic must obey it.
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
    wafv2 = var.endpoint
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

resource "aws_lb" "web" {
  name               = "tf-waf"
  load_balancer_type = "application"
  subnets            = slice(sort(data.aws_subnets.default.ids), 0, 2)
}

resource "aws_lb_target_group" "app" {
  name        = "tf-waf-app"
  port        = var.backend_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = data.aws_vpc.default.id
}

resource "aws_lb_target_group_attachment" "local" {
  target_group_arn = aws_lb_target_group.app.arn
  target_id        = "127.0.0.1"
  port             = var.backend_port
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

resource "aws_wafv2_ip_set" "blocked" {
  name               = "tf-blocked"
  scope              = "REGIONAL"
  ip_address_version = "IPV4"
  addresses          = ["127.0.0.2/32"]
}

resource "aws_wafv2_web_acl" "edge" {
  name  = "tf-edge"
  scope = "REGIONAL"
  default_action {
    allow {}
  }
  rule {
    name     = "blocked-sources"
    priority = 0
    action {
      block {}
    }
    statement {
      ip_set_reference_statement {
        arn = aws_wafv2_ip_set.blocked.arn
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = false
      metric_name                = "blocked-sources"
      sampled_requests_enabled   = false
    }
  }
  rule {
    name     = "rate"
    priority = 1
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit                 = 10
        aggregate_key_type    = "IP"
        evaluation_window_sec = 600
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = false
      metric_name                = "rate"
      sampled_requests_enabled   = false
    }
  }
  visibility_config {
    cloudwatch_metrics_enabled = false
    metric_name                = "tf-edge"
    sampled_requests_enabled   = false
  }
}

resource "aws_wafv2_web_acl_association" "web" {
  resource_arn = aws_lb.web.arn
  web_acl_arn  = aws_wafv2_web_acl.edge.arn
}

output "web_arn" { value = aws_lb.web.arn }
