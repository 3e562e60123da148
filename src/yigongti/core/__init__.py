"""The shared kernel (共享内核): money, ID numbers, problems, the policy, the engine connection, the database."""
