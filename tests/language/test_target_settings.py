"""`target NAME { }` blocks: a target's deployment settings, in env and vars blocks, lowered
into the IR as written (the target checks its keys), and the migration from `aws_*` variables."""
from __future__ import annotations

from edgec.fmt import format_source
from edgec.ir import TargetSetting
from edgec.pipeline import analyse

SOURCE = '''edge "x" {
  vars {
    region = "eu-west-1"
    target aws {
      region ${region}
      scheme "internal"
    }
  }
  env prod {
    nets = ["subnet-0a1", "subnet-0b2"]
    target aws {
      scheme "internet-facing"  # the env's key wins
      subnets ${nets}
      vpc "vpc-${env}"
    }
  }
  env dev {}
  route r {
    respond 200 "ok"
  }
}
'''


def settings(source: str, env: str) -> dict:
    result = analyse(source, "t.edge", env=env)
    assert result.ok, result.diagnostics
    return {t.target: t.settings for t in result.edge.target_settings}


def test_the_env_block_adds_to_vars_key_by_key_with_variables_resolved():
    assert settings(SOURCE, "prod") == {"aws": (
        TargetSetting("region", "eu-west-1"), TargetSetting("scheme", "internet-facing"),
        TargetSetting("subnets", ("subnet-0a1", "subnet-0b2")), TargetSetting("vpc", "vpc-prod"))}
    assert settings(SOURCE, "dev") == {"aws": (TargetSetting("region", "eu-west-1"),
                                               TargetSetting("scheme", "internal"))}
    assert not [d for d in analyse(SOURCE, "t.edge", all_envs=True).diagnostics if d.severity == "error"]


def test_the_canonical_layout_keeps_the_block_and_its_comments():
    messy = SOURCE.replace('    target aws {\n      region ${region}\n      scheme "internal"\n    }\n',
                           '    target   aws { region ${region}   scheme "internal" }\n')
    assert format_source(messy) == SOURCE
    assert format_source(SOURCE) == SOURCE


def test_a_key_or_a_block_given_twice_is_an_error():
    twice = SOURCE.replace('      vpc "vpc-${env}"\n', '      vpc "vpc-${env}"\n      vpc "vpc-2"\n')
    [d] = [d for d in analyse(twice, "t.edge", env="prod").diagnostics if d.severity == "error"]
    assert (d.code, d.line, d.message) == ("E215", 15, "'vpc' is already set on line 14")
    again = SOURCE.replace("  env dev {}\n", '  env dev {\n    target aws { vpc "a" }\n    target aws { vpc "b" }\n  }\n')
    [d] = [d for d in analyse(again, "t.edge", env="dev").diagnostics if d.severity == "error"]
    assert (d.code, d.line) == ("E215", 19)


def test_a_value_is_a_string_or_a_list_of_strings():
    bad = SOURCE.replace('vpc "vpc-${env}"', "vpc 5s")
    [d] = [d for d in analyse(bad, "t.edge", env="prod").diagnostics if d.severity == "error"]
    assert d.code == "E108" and "target aws setting 'vpc'" in d.message


def test_a_variable_may_still_be_called_target():
    source = SOURCE.replace('    region = "eu-west-1"\n', '    region = "eu-west-1"\n    target = "/t"\n').replace(
        'respond 200 "ok"', 'respond 200 "${target}"')
    result = analyse(source, "t.edge", env="dev")
    assert result.ok and result.edge.routes[0].action.body == "/t"


def test_old_aws_variables_get_the_equivalent_block():
    old = '''edge "x" {
  env prod {
    aws_region = "eu-west-1"
    aws_subnets = [
      "subnet-0a1",
      "subnet-0b2",
    ]
    aws_bucket = "logs"
  }
  route r {
    respond 200 "${aws_bucket}"
  }
}
'''
    diagnostics = analyse(old, "t.edge", all_envs=True).diagnostics
    [d] = diagnostics  # one for the block (not W303 as well); aws_bucket is used, so an ordinary variable
    assert (d.code, d.line, d.column) == ("E114", 3, 5)
    assert d.message == ("variables 'aws_region' and 'aws_subnets' are no longer read by the aws target: "
                         "its settings are written in a `target aws { }` block")
    assert d.hint == ('in this env prod block, write instead: '
                      'target aws { region "eu-west-1" subnets ["subnet-0a1", "subnet-0b2"] }')
    # the hint is valid source that lints clean where the variables were
    fixed = old.replace(old[old.index("    aws_region"):old.index("    aws_bucket")],
                        "    " + d.hint.split("write instead: ")[1] + "\n")
    assert analyse(format_source(fixed), "t.edge", all_envs=True).diagnostics == []
