"""Portal routes (门户路由) of the web platform: sign-in, persons, choices, registry, officials pages."""
