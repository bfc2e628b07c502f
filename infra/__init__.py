"""The CDK side of fleetboard: one construct per concern, stacks that only compose them."""
