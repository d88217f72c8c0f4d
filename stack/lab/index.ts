/**
 * The lab, as the rest of the code uses it: enter a network namespace of its own
 * (`namespace.ts`), check the machine can host it (`privileges.ts`), build the TAP and the
 * addresses inside it (`setup.ts`), and read the namespace's kernel sockets (`proc-net-tcp.ts`)
 * and TCP counters (`tcp-counters.ts`).
 */
export { assertNotHostNamespace, checkNetnsName, currentLab, enterLabNamespace, labChannel, LabError, spawnInLab, type LabChannel, type LabChild, type LabNamespace } from './namespace.js';
export { diagnoseLabPrivileges, labPrivilegeProblem, type LabFacts } from './privileges.js';
export { LAB_IFNAME, LAB_KERNEL_IP, LAB_PREFIX_LEN, LAB_STACK_IP, LAB_STACK_MAC, setupLab, type Lab, type LabOptions } from './setup.js';
export { createForeignTap, FOREIGN_IFNAME, type ForeignTap } from './foreign-tap.js';
export { histogram, parseProcNetTcp, readKernelSockets, type KernelSocket, type KernelTcpState } from './proc-net-tcp.js';
export { counterDelta, parseNetstat, readTcpCounters, type TcpCounters } from './tcp-counters.js';
