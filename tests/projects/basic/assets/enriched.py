from assets_orch import asset


@asset(description="Clicks with a doubled amount.", tags=["python"])
def enriched(clicks):
    return clicks.project("id, amount * 2 as doubled")
