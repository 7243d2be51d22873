"""What an edge's deployment looks like in AWS, read back with describe-* and
get-web-acl-for-resource, as plain data that two runs can be compared by."""
from __future__ import annotations

import ast

from edgec.targets.aws.plan import Plan


def _tags(elbv2, arns: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for i in range(0, len(arns), 20):
        for d in elbv2.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]:
            out[d["ResourceArn"]] = {t["Key"]: t["Value"] for t in d["Tags"]}
    return out


def search_string(value) -> str:
    """moto keeps a WAF SearchString as the repr of its bytes ("b'/api/'"); AWS keeps the bytes."""
    text = value.decode() if isinstance(value, bytes) else value
    if text.startswith(("b'", 'b"')):
        return ast.literal_eval(text).decode()
    return text


def _strip(value):
    if isinstance(value, dict):
        return {k: (search_string(v) if k == "SearchString" else _strip(v)) for k, v in value.items()
                if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def state(aws, plan: Plan) -> dict:
    """Everything of this plan's names that exists: load balancer, target groups, listeners,
    rules, the web ACL and its association, the IP sets."""
    elbv2, waf = aws.client("elbv2"), aws.client("wafv2")
    out: dict = {"load_balancers": [], "target_groups": {}, "listeners": {}, "web_acls": [], "association": None,
                 "ip_sets": {}}
    lbs = [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == plan.lb_name]
    names = {tg.name for tg in plan.target_groups}
    tgs = [tg for tg in elbv2.describe_target_groups()["TargetGroups"] if tg["TargetGroupName"] in names]
    arns = [lb["LoadBalancerArn"] for lb in lbs] + [tg["TargetGroupArn"] for tg in tgs]
    tags = _tags(elbv2, arns) if arns else {}
    for lb in lbs:
        out["load_balancers"].append({"arn": lb["LoadBalancerArn"], "scheme": lb["Scheme"], "type": lb["Type"],
                                      "subnets": sorted(z["SubnetId"] for z in lb["AvailabilityZones"]),
                                      "security_groups": sorted(lb.get("SecurityGroups", [])),
                                      "tags": tags[lb["LoadBalancerArn"]]})
    for tg in tgs:
        arn = tg["TargetGroupArn"]
        attributes = {a["Key"]: a["Value"] for a in
                      elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
        targets = sorted(f"{t['Target']['Id']}:{t['Target']['Port']}" for t in
                         elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"])
        health = {k: tg[k] for k in ("HealthCheckPath", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
                                     "HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher")}
        out["target_groups"].setdefault(tg["TargetGroupName"], []).append(
            {"arn": arn, "port": tg["Port"], "type": tg["TargetType"], "health": health, "attributes": attributes,
             "targets": targets, "tags": tags[arn]})
    for lb in lbs:
        for lst in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            rules = elbv2.describe_rules(ListenerArn=lst["ListenerArn"])["Rules"]
            rule_tags = _tags(elbv2, [r["RuleArn"] for r in rules if not r["IsDefault"]]) if len(rules) > 1 else {}
            out["listeners"].setdefault(lst["Port"], []).append({
                "arn": lst["ListenerArn"], "protocol": lst["Protocol"], "ssl_policy": lst.get("SslPolicy"),
                "certificates": [c["CertificateArn"] for c in lst.get("Certificates", [])],
                "default_actions": lst["DefaultActions"],
                "attributes": {a["Key"]: a["Value"] for a in
                               elbv2.describe_listener_attributes(ListenerArn=lst["ListenerArn"])["Attributes"]},
                "rules": [{"arn": r["RuleArn"], "priority": r["Priority"], "conditions": r["Conditions"],
                           "actions": r["Actions"], "route": rule_tags.get(r["RuleArn"], {}).get("edgec:route")}
                          for r in sorted(rules, key=lambda r: (r["IsDefault"], int(r["Priority"])
                                                                if not r["IsDefault"] else 0))
                          if not r["IsDefault"]]})
        acl = waf.get_web_acl_for_resource(ResourceArn=lb["LoadBalancerArn"]).get("WebACL")
        out["association"] = _strip(acl) if acl else None
    out["web_acls"] = [a["Name"] for a in waf.list_web_acls(Scope="REGIONAL")["WebACLs"] if a["Name"] == plan.waf_name]
    for summary in waf.list_ip_sets(Scope="REGIONAL")["IPSets"]:
        if summary["Name"] in plan.ip_set_names:
            got = waf.get_ip_set(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])["IPSet"]
            tags = waf.list_tags_for_resource(ResourceARN=got["ARN"])["TagInfoForResource"].get("TagList", [])
            out["ip_sets"][got["Name"]] = {"arn": got["ARN"], "version": got["IPAddressVersion"],
                                           "addresses": sorted(got["Addresses"]),
                                           "tags": {t["Key"]: t["Value"] for t in tags}}
    return out


def is_empty(snapshot: dict) -> bool:
    return not (snapshot["load_balancers"] or snapshot["target_groups"] or snapshot["listeners"]
                or snapshot["web_acls"]
                or snapshot["ip_sets"])
