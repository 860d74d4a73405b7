"""What the product itself runs besides the CLI: the demo, its throwaway PostgreSQL, and the fault proxy."""
