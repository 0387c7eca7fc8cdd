"""A reader's reading stats: books and pages finished per month, drawn as server-side SVG."""
