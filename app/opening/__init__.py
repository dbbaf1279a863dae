"""Opening a consortium from forms: the wizard, the settings of its call and budget model, the defaults.

One floor above `sections` and `budget`, beside `exchange`, which builds a consortium from a document
with the same lower-level functions (`app.budget.lines.write_model`).
"""
