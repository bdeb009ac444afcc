// A create/describe/delete flow through the AWS SDK for JavaScript v3 against the emulator.
// Usage: ELBV2_ENDPOINT_URL=http://127.0.0.1:4566 node elbv2_flow.mjs
// Prints each step; exits non-zero on the first answer that differs from what AWS would return.
import {
  CreateListenerCommand, CreateLoadBalancerCommand, CreateTargetGroupCommand, DeleteListenerCommand,
  DeleteLoadBalancerCommand, DeleteTargetGroupCommand, DescribeListenersCommand, DescribeLoadBalancersCommand,
  DescribeSSLPoliciesCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client,
  LoadBalancerNotFoundException,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from "@aws-sdk/client-ec2";

const endpoint = process.env.ELBV2_ENDPOINT_URL;
if (!endpoint) {
  console.error("set ELBV2_ENDPOINT_URL to the emulator's URL");
  process.exit(2);
}
const config = {
  endpoint,
  region: process.env.AWS_REGION ?? "us-east-1",
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
};
const elbv2 = new ElasticLoadBalancingV2Client(config);
const ec2 = new EC2Client(config);

function expect(condition, message) {
  if (!condition) {
    console.error(`MISMATCH: ${message}`);
    process.exit(1);
  }
  console.log(`ok: ${message}`);
}

async function defaultSubnets() {
  const { Subnets } = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "default-for-az", Values: ["true"] }] }));
  const byZone = new Map();
  for (const subnet of Subnets) if (!byZone.has(subnet.AvailabilityZone)) byZone.set(subnet.AvailabilityZone, subnet.SubnetId);
  return [...byZone.keys()].sort().slice(0, 2).map((zone) => byZone.get(zone));
}

async function main() {
  const { Vpcs } = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }));
  const vpcId = Vpcs[0].VpcId;
  const subnets = await defaultSubnets();
  expect(subnets.length === 2, `two default subnets in distinct zones: ${subnets}`);

  const { LoadBalancers: [lb] } = await elbv2.send(new CreateLoadBalancerCommand({ Name: "js-sdk-alb", Subnets: subnets }));
  expect(lb.Type === "application" && lb.Scheme === "internet-facing", `CreateLoadBalancer -> ${lb.LoadBalancerArn}`);
  expect(lb.CreatedTime instanceof Date, "CreatedTime parses as a timestamp");

  const { TargetGroups: [tg] } = await elbv2.send(new CreateTargetGroupCommand({
    Name: "js-sdk-tg", Protocol: "HTTP", Port: 8080, VpcId: vpcId, TargetType: "ip",
  }));
  expect(tg.TargetGroupName === "js-sdk-tg" && tg.Port === 8080, `CreateTargetGroup -> ${tg.TargetGroupArn}`);

  const { Listeners: [listener] } = await elbv2.send(new CreateListenerCommand({
    LoadBalancerArn: lb.LoadBalancerArn, Protocol: "HTTP", Port: 18080,
    DefaultActions: [{ Type: "forward", TargetGroupArn: tg.TargetGroupArn }],
  }));
  expect(listener.Port === 18080 && listener.DefaultActions[0].Type === "forward", `CreateListener -> ${listener.ListenerArn}`);

  const described = await elbv2.send(new DescribeLoadBalancersCommand({ Names: ["js-sdk-alb"] }));
  expect(described.LoadBalancers.length === 1 && described.LoadBalancers[0].DNSName === lb.DNSName, "DescribeLoadBalancers by name");
  const listeners = await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  expect(listeners.Listeners.map((l) => l.ListenerArn).join() === listener.ListenerArn, "DescribeListeners");
  const groups = await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.TargetGroupArn] }));
  expect(groups.TargetGroups[0].LoadBalancerArns.includes(lb.LoadBalancerArn), "target group lists its load balancer");
  const policies = await elbv2.send(new DescribeSSLPoliciesCommand({ Names: ["ELBSecurityPolicy-2016-08"] }));
  expect(policies.SslPolicies[0].Ciphers.length > 0, "DescribeSSLPolicies");

  await elbv2.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
  await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
  await elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
  try {
    await elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn] }));
    expect(false, "DescribeLoadBalancers after delete raises LoadBalancerNotFound");
  } catch (error) {
    expect(error instanceof LoadBalancerNotFoundException, `deleted load balancer is gone (${error.name})`);
  }
  console.log("js sdk flow: all good");
}

main().catch((error) => {
  console.error(`FAILED: ${error.name}: ${error.message}`);
  process.exit(1);
});
