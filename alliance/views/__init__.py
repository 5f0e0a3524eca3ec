"""Pages of the industry alliance, one module per part of the domain (alliance/urls.py imports each).

Views parse input, call one service or QuerySet method and present the result. Objects of other organisations
are found through ``for_user`` querysets, so they are 404 here.
"""
