"""The national medical insurance information platform's language (国家医保信息平台): settlement records (2207,
2304 and their cancellations 2208, 2305) read as claims, its code systems as data (``codes.toml``), and the demo
county written as a bureau would receive it. docs/en/nhsa.md is the guide."""
