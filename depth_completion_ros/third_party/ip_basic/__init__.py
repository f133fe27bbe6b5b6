"""The authors' IP-Basic ``fill_in_fast`` as a timing and accuracy reference (MIT, LICENSE here)."""
