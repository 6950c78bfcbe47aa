"""The demo policy's personas as tokens, for the adversarial suite."""

PERSONAS = {
    "analyst": dict(sub="pat.parking", departments=["parking"],
                    groups=["analyst", "operational", "parking-analyst"], attrs=[("wards", "E05009372")]),
    "manager": dict(sub="morgan.manager", departments=["parking"],
                    groups=["analyst", "operational", "parking-manager"]),
    "enforcement_manager": dict(sub="eve.enforcement", departments=["parking"],
                                groups=["operational", "parking-enforcement", "parking-manager"],
                                attrs=[("wards", "E05009372")]),
    "housing": dict(sub="hana.housing", departments=["housing"],
                    groups=["analyst", "operational", "housing-officer"],
                    attrs=[("teams", "north"), ("teams", "central")]),
    "safeguarding": dict(sub="sam.safeguarding", departments=["housing"],
                         groups=["analyst", "operational", "safeguarding"]),
    "revenues": dict(sub="rae.revenues", departments=["revenues"],
                     groups=["operational", "revenues-analyst"]),
    "engineer": dict(sub="dee.engineer", departments=["parking", "housing", "revenues"], groups=["engineer"]),
    "public": dict(sub="max.public"),
}


def token(lakegate, persona, **overrides):
    spec = dict(PERSONAS[persona])
    spec.update(overrides)
    return lakegate.token(spec["sub"], spec.get("departments", ()), spec.get("groups", ()),
                          attrs=spec.get("attrs", ()))
