"""A job's output, read from the portal host's mount of the cluster's shared filesystem.

Only the path Slurm recorded for the job (or, once the scheduler forgot it, the path the portal asked for), only
inside JOB_OUTPUT_ROOTS after every symlink is resolved, only a regular file owned by the job's uid, never a
symlink itself; the page shows the last JOB_OUTPUT_TAIL_BYTES, the download stops at
JOB_OUTPUT_DOWNLOAD_MAX_BYTES. compute/jobs/files.py holds the checks (no Django in it); this module applies them
to a job of the queue.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from compute.identities.models import ClusterIdentity
from compute.jobs import files


class OutputUnavailable(Exception):
    """Why the output cannot be shown (a sentence for the person)."""


@dataclass
class Tail:
    text: str
    truncated: bool
    problem: str
    path: str


def _path(row, stream: str) -> str:
    recorded = row.job.stdout_path if stream == "stdout" else row.job.stderr_path
    if not recorded and row.submission is not None:
        recorded = row.submission.stdout_path if stream == "stdout" else row.submission.stderr_path
    if stream == "stderr" and not recorded:
        recorded = row.job.stdout_path  # Slurm writes both to one file unless told otherwise
    return (recorded or "").replace("%j", str(row.job.job_id)).replace("%u", row.job.user)


def _owner_uid(row) -> int | None:
    """The uid the output file must belong to; -1 when the check is off (the demo's pretend cluster)."""
    if not settings.JOB_OUTPUT_OWNER_CHECK:
        return -1
    if row.submission is not None:
        return row.submission.uid
    return ClusterIdentity.objects.filter(username=row.job.user).values_list("uid", flat=True).first()


def _problem(error: files.OutputRefused) -> str:
    messages = {
        "missing": _("Nothing written yet."),
        "outside": _("The output is outside the directories the portal may read."),
        "owner": _("The output file does not belong to the job's user, so the portal does not show it."),
        "not_file": _("The output is not a regular file."),
        "unreadable": _("The output cannot be read from the portal."),
        "too_large": _("The output file is too large to download here; fetch it over SSH."),
    }
    return messages.get(error.reason, _("The output cannot be shown."))


def tail_of(row, stream: str) -> Tail:
    path = _path(row, stream)
    uid = _owner_uid(row)
    if not path or uid is None:
        return Tail("", False, _("Slurm recorded no output file for this job."), path)
    try:
        text, truncated = files.read_tail(
            path,
            owner_uid=None if uid == -1 else uid,
            allowed_roots=settings.JOB_OUTPUT_ROOTS,
            max_bytes=settings.JOB_OUTPUT_TAIL_BYTES,
        )
    except files.OutputRefused as error:
        return Tail("", False, _problem(error), path)
    return Tail(text, truncated, "", path)


def open_whole(row, stream: str):
    """(an open binary file, its size, a download name); OutputUnavailable with the reason otherwise."""
    path = _path(row, stream)
    uid = _owner_uid(row)
    if not path or uid is None:
        raise OutputUnavailable(_("Slurm recorded no output file for this job."))
    try:
        handle, size = files.open_for_download(
            path,
            owner_uid=None if uid == -1 else uid,
            allowed_roots=settings.JOB_OUTPUT_ROOTS,
            max_bytes=settings.JOB_OUTPUT_DOWNLOAD_MAX_BYTES,
        )
    except files.OutputRefused as error:
        raise OutputUnavailable(_problem(error)) from error
    return handle, size, f"{row.job.name or 'job'}-{row.job.job_id}.{'out' if stream == 'stdout' else 'err'}"
