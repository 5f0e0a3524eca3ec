"""The directory boundary: only frozen dataclasses and DirectoryError cross it (see base.py)."""

from django.conf import settings
from django.utils.module_loading import import_string

from compute.identities.directory.base import Directory


def get_directory() -> Directory:
    """The configured directory (settings.DIRECTORY_BACKEND and DIRECTORY_BACKEND_OPTIONS)."""
    return import_string(settings.DIRECTORY_BACKEND)(**settings.DIRECTORY_BACKEND_OPTIONS)
