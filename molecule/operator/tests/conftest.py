import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared"))
# test_zz_rollout signs an extra account with the collection's own JWT code
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", ".collections"))
