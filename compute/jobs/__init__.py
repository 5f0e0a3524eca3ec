"""Jobs from the browser (issue #15): the algorithm catalogue (job templates), submission through slurmrestd as
the person's own cluster user, the live queue, and the jobs' output.

models.py     Submission (what the portal submitted, for whom, from which template) and JobTemplate
services.py   submit, cancel: every check before anything reaches Slurm, audited
queue.py      the live queue as each viewer may see it, cached briefly and shared per organisation
views.py, forms.py, urls.py, api.py   the pages (/compute/jobs/) and /api/v1/jobs/
The cluster side is compute/backends (submit_job, list_jobs, get_job, cancel_job); output files are read by
compute/jobs/output.py, which refuses anything outside the allowed roots or not owned by the job's uid.
"""
