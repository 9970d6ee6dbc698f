"""pytest configuration for the whole project (tests/ and the nbval run of notebooks/)."""
import os

# The notebooks (nbval) and the runner's tests run on the smallest profile; the kernel
# nbval starts inherits this environment.
os.environ.setdefault("SPECADV_PROFILE", "smoke")
