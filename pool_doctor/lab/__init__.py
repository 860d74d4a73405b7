"""What the product itself runs besides the CLI: the demo and its throwaway PostgreSQL."""
