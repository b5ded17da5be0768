// `oakestra-logd`: the log driver alone. containerd's shim starts one per container and it lives
// as long as the container, so it is kept to the few libraries the driver needs instead of
// loading everything the `oakestra` binary links (about 3 MB of private memory per container).
#include "worker/logs/log_driver.h"

int main(int argc, char** argv) {
  return oak::worker::runLogDriver(argc, argv);
}
