"""CloudFormation (and so the CDK, SAM, ...) creates the emulator's own load balancers.

moto answers CloudFormation in process and resolves each resource type through its registry
(``moto.cloudformation.parsing.get_model_map``). ``bridge.CloudFormationBridge`` puts the emulator's seven
``AWS::ElasticLoadBalancingV2::*`` types (``load_balancers``, ``listeners``, ``trust_stores``) in that
registry, so a stack's load balancers, listeners and rules are made by the API's own call path
(``Elbv2Endpoint.invoke``) and moto's ELBv2 backend never sees them; it also gives moto's stacks resource
events and rollback (``stack_events``) and the deletion of a CDK VPC's parts (``ec2_deletions``). moto's CloudFormation takes a second to import, so the bridge
installs itself when the first CloudFormation call arrives, before moto answers it.
"""
