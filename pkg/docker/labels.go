package docker

// Labels on every object wpinit creates. Ownership is the pair managed-by + owner: a wpinit
// only lists, changes and removes objects carrying its own owner value, so tests and several
// wpinit daemons can share one engine without touching each other's objects.
const (
	LabelManagedBy = "org.wp-dind.managed-by" // always ManagedBy
	LabelOwner     = "org.wp-dind.owner"      // the daemon's owner value (Options.Owner)
	LabelInstance  = "org.wp-dind.instance"   // instance name, on containers
	LabelRole      = "org.wp-dind.role"       // "db", "php" or "web", on containers
	LabelHash      = "org.wp-dind.hash"       // hash of the container's whole definition
	LabelFolder    = "org.wp-dind.folder"     // when the instance's folder was made (.instance-info's created)
	LabelNetworkID = "org.wp-dind.network-id" // N of wp-network-N, on instance networks

	ManagedBy = "wpinit"
)

// OwnerFilter is the label filter value that selects the objects of owner.
func OwnerFilter(owner string) string { return LabelOwner + "=" + owner }
