"""Demo data of the projects platform, loaded by `manage.py seed_demo` (idempotent, made through the services)."""


def seed(people: dict) -> None:
    """``people`` maps the demo emails of seed_demo.PEOPLE to their users."""
