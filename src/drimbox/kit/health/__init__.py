"""``drimbox kit health``: the healthcheck client simulator (as the ANS one calls the Source)."""
