"""The web application assembled (应用装配): the FastAPI factory, start-up, routers of every capability."""
