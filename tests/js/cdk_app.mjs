// A small CDK app, synthesised offline by tests/test_cdk.py (no CDK CLI, no bootstrap): a VPC, an internet-facing
// ALB with a security group, an HTTP listener, a path rule, and a target group with an IP target on 127.0.0.1.
//
// Inputs (environment): CDK_OUTDIR (where app.synth() writes WebStack.template.json), LISTENER_PORT,
// BACKEND_PORT, RULE_PATH (the path pattern the rule forwards to the backend; the default action answers 404).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const cdk = require("aws-cdk-lib");
const ec2 = require("aws-cdk-lib/aws-ec2");
const elbv2 = require("aws-cdk-lib/aws-elasticloadbalancingv2");
const targets = require("aws-cdk-lib/aws-elasticloadbalancingv2-targets");

const listenerPort = Number(process.env.LISTENER_PORT);
const backendPort = Number(process.env.BACKEND_PORT);
const rulePath = process.env.RULE_PATH ?? "/api/*";

// analyticsReporting: no AWS::CDK::Metadata resource. generateBootstrapVersionRule: false: no BootstrapVersion
// parameter and CheckBootstrapVersion rule (they read an SSM parameter that only `cdk bootstrap` creates).
const app = new cdk.App({ outdir: process.env.CDK_OUTDIR, analyticsReporting: false });
const stack = new cdk.Stack(app, "WebStack", {
  env: { account: "123456789012", region: "us-east-1" },
  synthesizer: new cdk.DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
});

// Explicit zones: an environment-specific stack would otherwise need a context lookup (the CLI's job).
const vpc = new ec2.Vpc(stack, "Vpc", {
  availabilityZones: ["us-east-1a", "us-east-1b"],
  natGateways: 0,
  restrictDefaultSecurityGroup: false, // (a custom resource backed by a Lambda asset: needs bootstrap)
  subnetConfiguration: [{ name: "public", subnetType: ec2.SubnetType.PUBLIC }],
});
const securityGroup = new ec2.SecurityGroup(stack, "AlbSecurityGroup", { vpc, description: "web ALB" });
securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(listenerPort), "HTTP from anywhere");

const alb = new elbv2.ApplicationLoadBalancer(stack, "Alb", { vpc, internetFacing: true, securityGroup });
const listener = alb.addListener("Http", {
  port: listenerPort,
  protocol: elbv2.ApplicationProtocol.HTTP,
  open: false,
  defaultAction: elbv2.ListenerAction.fixedResponse(404, { contentType: "text/plain", messageBody: "no route" }),
});
const backend = new elbv2.ApplicationTargetGroup(stack, "Backend", {
  vpc,
  port: backendPort,
  protocol: elbv2.ApplicationProtocol.HTTP,
  targetType: elbv2.TargetType.IP,
  targets: [new targets.IpTarget("127.0.0.1", backendPort)],
  healthCheck: { path: "/health", interval: cdk.Duration.seconds(10) },
});
listener.addAction("Api", {
  priority: 10,
  conditions: [elbv2.ListenerCondition.pathPatterns([rulePath])],
  action: elbv2.ListenerAction.forward([backend]),
});

new cdk.CfnOutput(stack, "AlbDnsName", { value: alb.loadBalancerDnsName });
new cdk.CfnOutput(stack, "ListenerArn", { value: listener.listenerArn });
new cdk.CfnOutput(stack, "TargetGroupArn", { value: backend.targetGroupArn });

app.synth();
