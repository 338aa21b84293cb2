"""Checks the GitHub workflow beyond its schema: no `${{ ... }}` expression inside a `run:` script
(inputs reach shell steps through `env:` only, so they cannot inject commands)."""
import sys

import yaml

path = sys.argv[1] if len(sys.argv) > 1 else ".github/workflows/agent-heartbeat.yml"
with open(path) as f:
    workflow = yaml.safe_load(f)
problems = []
for job_name, job in workflow.get("jobs", {}).items():
    for index, step in enumerate(job.get("steps", [])):
        if "${{" in step.get("run", ""):
            problems.append(f"{path}: jobs.{job_name}.steps[{index}] ({step.get('name', 'unnamed')}): expression inside run:")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
