"""Pages of the incubation platform, by audience: the public calls and showcase (``public``), applicants
(``applicant``), the center's operators (``operator``), expert reviewers (``review``) and incubated projects'
teams, mentors and operators (``incubation``).

Views parse input, call one service or QuerySet method and present the result. Objects a person may not
see are found through ``for_user`` querysets, so they are 404 here. Applicants never see who reviewed.
"""
