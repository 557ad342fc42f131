import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared"))
import natstest  # noqa: E402

# test_zz_rollout signs an extra account with the collection's own JWT code, from
# the copy under test (the checkout, or the installed tarball).
sys.path.insert(0, natstest.COLLECTIONS)
