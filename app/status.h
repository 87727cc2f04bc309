#pragma once
// What `dmarcwatch status --format json` prints (docs/cli.md), also served
// as GET /api/v1/status: per mailbox and watched folder the last run and
// the totals, the store's totals, the alert incidents and outbox.

#include <string>

#include "config.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::app {

Result<std::string> StatusJson(const Config& config, store::Store& store);

}  // namespace dmarcwatch::app
