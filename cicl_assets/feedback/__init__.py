"""User feedback: ratings of workflow runs from the platform and from Langfuse."""
