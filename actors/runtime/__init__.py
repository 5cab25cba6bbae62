"""Starting, guarding and stopping the gateway's actor system."""
