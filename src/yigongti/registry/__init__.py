"""The registry (机构登记): consortia, institutions in tiers, and the rules of their nesting."""
