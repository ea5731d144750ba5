"""VPC flow-log domain knowledge shared by the program, the tools and the policy pack."""
