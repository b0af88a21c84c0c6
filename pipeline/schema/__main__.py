"""`python -m pipeline.schema`: regenerate pipeline/schema/ticket_submitted.schema.json from the model."""

from pipeline.schema import write

if __name__ == "__main__":
    print(write())
