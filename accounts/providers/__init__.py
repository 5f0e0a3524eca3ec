"""The URL packages of the portal's subclasses of allauth's providers (accounts/chinese_apps.py): allauth mounts
``<provider.package>.urls``, so each portal provider names one here to serve its paths with its own adapter."""
