// The `weightlens` executable: all logic lives in WeightLensCLI so tests can reach it.
import WeightLensCLI

WeightLensCommand.checkKernelEnvironment()
WeightLensCommand.main()
