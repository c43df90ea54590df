// LTNodes: node catalogue, graph validation, the executor and the node implementations.
