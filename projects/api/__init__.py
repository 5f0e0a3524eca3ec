"""REST API of the incubation platform: thin views over ``projects.services``, by part of the pipeline
(``calls``, ``applications``, ``review``, ``incubation``); ``projects.api_urls`` mounts them.

Applicants' representations never name reviewers (blind review); operators and supervisors see them.
"""
