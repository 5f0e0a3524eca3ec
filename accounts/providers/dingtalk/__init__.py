"""DingTalk's sign-in URLs with the portal's adapter (accounts/chinese_apps.py)."""
