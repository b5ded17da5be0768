#pragma once
// What the root's alerts look at, read from the root's state: clusters as the scheduler sees
// them, the workers the clusters reported, and recent error records.

#include "root/alerts.h"
#include "root/context.h"

namespace oak::root {

AlertInputs gatherAlertInputs(RootContext& ctx);

}  // namespace oak::root
