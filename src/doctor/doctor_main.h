#pragma once
// `oakestra doctor`: the command.

namespace CLI {
class App;
}

namespace oak::doctor {

struct DoctorOptions;
void addDoctorFlags(CLI::App& app, DoctorOptions& o);
int runDoctor(const DoctorOptions& o);

}  // namespace oak::doctor
