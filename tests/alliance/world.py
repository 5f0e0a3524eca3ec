"""The alliance platform's part of the accessibility crawl's world (tests/e2e/test_accessibility.py)."""


def build(world: dict, *, organisation) -> None:
    """Make objects in interesting states through the services, and add to the world:

    - ``world["values"][name]``: ids (or other values) for the URL placeholders of this platform's pages, keyed
      by placeholder name or by the path segment before an ``<int:pk>`` (see tests/e2e/crawl.py);
    - ``world["personas"][name]``: more users to crawl as (signed in), e.g. a reviewer or an instructor.

    ``world`` also holds the crawl's "operator", "supervisor" and "member" users; ``organisation`` is the
    member's verified organisation.
    """
