"""Use cases of the incubation platform, one module per part of the pipeline.

``applications`` (drafting, submitting, co-applicants, attachments), ``screening`` (the operators' steps and
decisions), ``review`` (reviewers, reviews, reminders), ``ranking`` (a call's applications by score) and
``incubation`` (incubated projects). Pages, the admin, the API and the tasks call these functions. Every
state change is audited (``core.states.save_transition`` for moves); mail is queued after commit by
``core.mail``. ``access`` holds who may act on what.
"""
