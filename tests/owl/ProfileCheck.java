// OWL 2 DL profile check with the OWL API that ships inside owlready2's HermiT.jar.
// Usage: java -cp HermiT.jar ProfileCheck.java FILE
// Loads FILE (an RDF document holding the ontology and any data to check with it, so
// that the data is parsed with the ontology's declarations; imports are not followed),
// prints every OWL 2 DL profile violation, one per line, then a summary line, and exits
// 1 when there is any violation.
import java.io.File;
import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.*;
import org.semanticweb.owlapi.profiles.*;

public class ProfileCheck {
    public static void main(String[] args) throws Exception {
        OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
        OWLOntology ontology = manager.loadOntologyFromOntologyDocument(new File(args[0]));
        OWLProfileReport report = new OWL2DLProfile().checkOntology(ontology);
        for (OWLProfileViolation violation : report.getViolations()) {
            System.out.println(violation.toString().replace('\n', ' '));
        }
        System.out.println("axioms: " + ontology.getAxiomCount() + ", violations: " + report.getViolations().size());
        System.exit(report.isInProfile() ? 0 : 1);
    }
}
