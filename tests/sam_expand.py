"""Expands template.yaml's Fn::ForEach loops the way `sam build` and `sam
deploy` do, with the SAM CLI's own language-extensions processor, given the
parameters `inlet deploy-params` wrote (`Key=Value` arguments). Prints each
resource of the expanded template as `LogicalId Type`, one per line; exits
non-zero with the SAM CLI's message if it refuses the template.

Usage: .venv/bin/python tests/sam_expand.py template.yaml Key=Value...
"""

import sys

from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
from samcli.yamlhelper import yaml_parse


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    parameters = dict(arg.split("=", 1) for arg in sys.argv[2:])
    parameters.update({"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
                       "AWS::StackName": "inlet", "AWS::Partition": "aws"})
    result = expand_language_extensions(template, parameters, enabled=True)
    for name, resource in result.expanded_template["Resources"].items():
        print(name, resource["Type"])


if __name__ == "__main__":
    main()
