"""Chinese number formats as used in public-sector documents: digits grouped by three with commas
(GB/T 15835), which Django's own zh_Hans formats leave ungrouped."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
