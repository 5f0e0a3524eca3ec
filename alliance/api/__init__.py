"""REST API of the industry alliance: thin views over the services, one module per part of the domain
(alliance/api_urls.py registers them). The directory is public; the rest is for signed-in people and shows only
their own organisations' objects (others are 404)."""
